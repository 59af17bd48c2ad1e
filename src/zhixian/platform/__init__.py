"""底座: divisions, departments, users, roles, sign-in, audit and the working calendar."""
