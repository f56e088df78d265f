"""Administration commands beside the running server: each module registers its verb or actions."""
