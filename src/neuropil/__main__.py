from neuropil.cli.main import main

main()
