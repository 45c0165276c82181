/* words: being written. */
