"""The moderators' and editors' signature pages in the workspace (``/manage/``)."""
