"""Search: ranked keyword search over the documents a caller may read (DOC-8)."""
