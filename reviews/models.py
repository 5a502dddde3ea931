# Models arrive with the reviews issue; the app is installed so migrations and admin have a home.
