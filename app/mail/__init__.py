"""E-mail: templates rendered and sent over SMTP by the worker; a local catcher in development."""
