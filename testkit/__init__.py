"""What the tests and the bench share to run real processes: free ports, polling for a
condition, supervised subprocesses with their logs, throwaway redis-servers.

It imports nothing from the product, so the bench (which stands apart from it) can use it too.
"""
