/* rfc3339: being written. */
