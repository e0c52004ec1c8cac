"""Lead intake: quote requests from the public form and the JSON API, processed by the worker
into draft jobs (received → enriched → published | duplicate | failed)."""
