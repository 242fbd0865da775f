"""The letters' pages in the coordinators' workspace (``/manage/``)."""
