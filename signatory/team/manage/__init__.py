"""The workspace pages of accounts and teams: sign-in, the account page, the team page."""
