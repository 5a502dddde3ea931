# Models arrive with the returns issue; the app is installed so migrations and admin have a home.
