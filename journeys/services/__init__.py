"""The only write path of journeys: planning, dispatching, rules and templates."""
