from summ.cli import main

raise SystemExit(main())
