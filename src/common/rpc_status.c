/* rpc_status: being written. */
