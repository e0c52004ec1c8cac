"""Marketplace: jobs clients post, the find-work search, and contractors' proposals."""
