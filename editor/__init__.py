"""Edit backends behind one small interface; the CPU default (`classic`) lives here too."""
