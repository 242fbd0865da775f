"""Email: the transactional outbox, delivery backends and the worker that sends."""
