/* hbjson: being written. */
