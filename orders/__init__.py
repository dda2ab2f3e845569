"""Orders: checkout that never oversells, the status lifecycle and its history."""
