from ibmon.cli import main

raise SystemExit(main())
