"""Users, JWT sign-in, registration and the request authentication the other apps use."""
