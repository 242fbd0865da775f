"""The organizations' workspace pages: the logo review queue (``logos``) and the lead
organizations (``leads``)."""
