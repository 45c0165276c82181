/* sign: being written. */
