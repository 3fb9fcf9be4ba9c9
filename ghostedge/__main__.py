"""``python -m ghostedge`` runs the CLI."""
from ghostedge.cli.main import main

raise SystemExit(main())
