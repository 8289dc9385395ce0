//! The [`Transport`] of an MPI job, on the `mpi` crate (rsmpi) over the system's MPI library
//! (Open MPI, MPICH). Built with `--features mpi`.

use mpi::Threading;
use mpi::point_to_point::MatchedReceiveVec;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use super::{Tag, Transport};

/// This process's membership of the job: MPI is finalised when it is dropped.
pub struct Mpi {
    // Dropped last: MPI_Finalize.
    world: SimpleCommunicator,
    host: String,
    _universe: mpi::environment::Universe,
}

/// Whether a launcher (mpirun, mpiexec, srun with PMI or PMIx) started this process as a rank.
/// A process started any other way runs alone, as a build without MPI does.
pub fn launched() -> bool {
    [
        "OMPI_COMM_WORLD_SIZE",
        "PMIX_RANK",
        "PMI_RANK",
        "PMI_SIZE",
        "MPI_LOCALNRANKS",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some())
}

impl Mpi {
    /// Join the job. Only the calling thread talks to MPI afterwards.
    pub fn init() -> anyhow::Result<Mpi> {
        let (universe, level) = mpi::initialize_with_threading(Threading::Funneled)
            .ok_or_else(|| anyhow::anyhow!("MPI could not be initialised (or was already)"))?;
        if level < Threading::Funneled {
            anyhow::bail!(
                "the MPI library gives threading level {level:?}; ccgsim needs at least Funneled"
            );
        }
        let world = universe.world();
        let host = mpi::environment::processor_name().unwrap_or_else(|_| "an unnamed host".into());
        Ok(Mpi {
            world,
            host,
            _universe: universe,
        })
    }
}

impl Transport for Mpi {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn host(&self) -> String {
        self.host.clone()
    }

    fn send(&self, to: usize, tag: Tag, bytes: &[u8]) {
        debug_assert!(!bytes.is_empty());
        self.world
            .process_at_rank(to as i32)
            .send_with_tag(bytes, tag as i32);
    }

    fn poll(&self) -> Option<(usize, Tag, Vec<u8>)> {
        let (message, status) = self.world.any_process().immediate_matched_probe()?;
        let (bytes, status) = (message, status).matched_receive_vec::<u8>();
        let tag = Tag::from_i32(status.tag())?;
        Some((status.source_rank() as usize, tag, bytes))
    }

    fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
}
