"""Look-alikes of registered works: hash kinds, the index, search, geometric verification, the library."""
