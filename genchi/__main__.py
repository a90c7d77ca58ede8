from genchi.cli import main

main()
