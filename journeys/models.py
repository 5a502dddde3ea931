# Models arrive with the journeys issue; the app is installed so migrations and admin have a home.
