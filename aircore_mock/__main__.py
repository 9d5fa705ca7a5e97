from aircore_mock.cli import main

main(prog_name="aircore-mock")
