/* clock: being written. */
