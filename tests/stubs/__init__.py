"""Local HTTP servers that answer like the outside services Releasebot talks to."""
