from komoju_server.cli import main

main()
