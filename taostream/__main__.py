from taostream.cli import main

raise SystemExit(main())
