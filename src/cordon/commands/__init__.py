"""The subcommands of `cordon`, one module each."""
