/* duration: being written. */
