"""ccplate-tui: production hardening console for Next.js apps."""

__version__ = "0.1.0"
