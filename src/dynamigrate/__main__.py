from dynamigrate.cli import main

raise SystemExit(main())
