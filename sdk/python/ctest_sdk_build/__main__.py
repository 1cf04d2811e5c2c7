import sys

from ctest_sdk_build import main

sys.exit(main())
