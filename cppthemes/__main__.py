from cppthemes.cli.app import main

main()
