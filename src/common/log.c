/* log: being written. */
