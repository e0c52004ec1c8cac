"""Payment providers behind one interface: the sandbox (default) and, later, Stripe."""
