"""govkit's drift monitor: events -> metrics -> drift tests -> stop conditions -> alerts."""
