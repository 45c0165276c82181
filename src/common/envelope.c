/* envelope: being written. */
