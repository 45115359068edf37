# zpcictl/: the operators' CLI.
