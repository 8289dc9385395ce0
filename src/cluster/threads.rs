//! A [`Transport`] between threads of one process, standing in for the ranks of an MPI job in
//! tests: the scheduling, the ordering of results and the end of a job are checked in the
//! default build, without MPI.

use std::sync::mpsc::{Receiver, Sender, channel};

use super::{Tag, Transport};

type Message = (usize, Tag, Vec<u8>);

pub struct ThreadTransport {
    rank: usize,
    inbox: Receiver<Message>,
    peers: Vec<Sender<Message>>,
}

/// One transport per rank of a job of `size` ranks; move each into its own thread.
pub fn job(size: usize) -> Vec<ThreadTransport> {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..size).map(|_| channel()).unzip();
    receivers
        .into_iter()
        .enumerate()
        .map(|(rank, inbox)| ThreadTransport {
            rank,
            inbox,
            peers: senders.clone(),
        })
        .collect()
}

impl Transport for ThreadTransport {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.peers.len()
    }

    fn host(&self) -> String {
        format!("thread {}", self.rank)
    }

    fn send(&self, to: usize, tag: Tag, bytes: &[u8]) {
        assert!(!bytes.is_empty(), "messages carry at least one byte");
        // A rank that has left drops what is sent to it, as MPI would never deliver it.
        let _ = self.peers[to].send((self.rank, tag, bytes.to_vec()));
    }

    fn poll(&self) -> Option<(usize, Tag, Vec<u8>)> {
        self.inbox.try_recv().ok()
    }

    fn abort(&self, code: i32) -> ! {
        panic!("rank {} aborted the job with code {code}", self.rank)
    }
}
