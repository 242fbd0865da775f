"""Privacy by default: what is kept, for how long, and the erasure that follows."""
