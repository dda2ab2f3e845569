"""The shared kernel every app imports: the error types and codes, shared schema pieces,
pagination, conditional requests (ETag / If-Match), constraint names of integrity errors and
admin forms that save through services. It imports no app."""
