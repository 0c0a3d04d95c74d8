"""The `nm28` subcommands that work a module from the shell, and what all subcommands share."""
