from cppthemes.cli import main

main()
