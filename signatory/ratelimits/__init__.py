"""Rate limits that hold across workers and nodes, and the client addresses they count by."""
