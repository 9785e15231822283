//! The field registry: every field name peregrine knows, its type, the
//! argument it takes and a one-line description (shown by `--list`).

use crate::value::FieldType;

/// What a field accepts between brackets or after a dot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgSpec {
    /// No argument.
    None,
    /// A numeric index is required: `proc.aname[2]`.
    Index,
    /// A numeric index may be given: `proc.aname` or `proc.aname[2]`.
    OptionalIndex,
    /// A name or an index is required: `evt.arg.fd`, `evt.arg[0]`.
    NameOrIndex,
    /// A key is required: `proc.env[HOME]`... or may be absent.
    OptionalKey,
}

/// Identifies a field's extractor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum FieldId {
    // evt.*
    EvtNum,
    EvtTime,
    EvtTimeS,
    EvtTimeIso8601,
    EvtDatetime,
    EvtDatetimeS,
    EvtRawtime,
    EvtRawtimeS,
    EvtRawtimeNs,
    EvtReltime,
    EvtReltimeS,
    EvtReltimeNs,
    EvtLatency,
    EvtDeltatime,
    EvtOutputtime,
    EvtType,
    EvtTypeIs,
    EvtDir,
    EvtCpu,
    EvtCategory,
    EvtArgs,
    EvtInfo,
    EvtArg,
    EvtRawarg,
    EvtRes,
    EvtRawres,
    EvtFailed,
    EvtIsIo,
    EvtIsIoRead,
    EvtIsIoWrite,
    EvtIsWait,
    EvtIsOpenRead,
    EvtIsOpenWrite,
    EvtIsOpenExec,
    EvtIsOpenCreate,
    EvtBuffer,
    EvtBuflen,
    EvtCount,
    EvtHostname,
    EvtSource,
    EvtPluginname,
    // proc.* / thread.*
    ProcName,
    ProcExe,
    ProcExepath,
    ProcArgs,
    ProcCmdline,
    ProcCmdnargs,
    ProcExeline,
    ProcEnv,
    ProcCwd,
    ProcTty,
    ProcPid,
    ProcPpid,
    ProcVpid,
    ProcPvpid,
    ProcSid,
    ProcSname,
    ProcVpgid,
    ProcVpgidName,
    ProcVpgidExe,
    ProcIsVpgidLeader,
    ProcIsSidLeader,
    ProcLoginshellid,
    ProcPname,
    ProcPexe,
    ProcPexepath,
    ProcPcmdline,
    ProcAname,
    ProcAexe,
    ProcAexepath,
    ProcApid,
    ProcDuration,
    ProcPpidDuration,
    ProcIsExeWritable,
    ProcIsExeUpperLayer,
    ProcIsExeLowerLayer,
    ProcIsExeFromMemfd,
    ProcExeIno,
    ProcExeInoCtime,
    ProcExeInoMtime,
    ProcExeInoCtimeDurationProcStart,
    ProcFdlimit,
    ProcVmsize,
    ProcVmrss,
    ProcVmswap,
    ThreadTid,
    ThreadVtid,
    ThreadIsmain,
    ThreadCapPermitted,
    ThreadCapEffective,
    ThreadCapInheritable,
    // fd.*
    FdNum,
    FdType,
    FdTypechar,
    FdName,
    FdNameraw,
    FdDirectory,
    FdFilename,
    FdIp,
    FdCip,
    FdSip,
    FdLip,
    FdRip,
    FdPort,
    FdCport,
    FdSport,
    FdLport,
    FdRport,
    FdL4proto,
    FdSockfamily,
    FdIsServer,
    FdNet,
    FdCnet,
    FdSnet,
    FdLnet,
    FdRnet,
    FdConnected,
    FdNameChanged,
    FdIno,
    FdDev,
    FdTypes,
    FdCipName,
    FdSipName,
    FdLipName,
    FdRipName,
    // user.* / group.*
    UserUid,
    UserName,
    UserHomedir,
    UserShell,
    UserLoginuid,
    UserLoginname,
    GroupGid,
    GroupName,
    // container.*
    ContainerId,
    ContainerName,
    ContainerImage,
    ContainerImageRepository,
    ContainerImageTag,
    ContainerType,
    ContainerPrivileged,
    ContainerInfo,
    ContainerMountDest,
    ContainerMounts,
    ContainerStartTs,
    // k8s.*
    K8sNsName,
    K8sPodName,
}

/// Static description of one field.
#[derive(Clone, Copy, Debug)]
pub struct FieldDef {
    /// Full name, e.g. `proc.name`.
    pub name: &'static str,
    /// Extractor.
    pub id: FieldId,
    /// Value type.
    pub ftype: FieldType,
    /// Accepted argument.
    pub arg: ArgSpec,
    /// One-line description.
    pub desc: &'static str,
}

macro_rules! fields {
    ($($name:literal => $id:ident, $ty:ident, $arg:ident, $desc:literal;)*) => {
        /// Every field peregrine extracts.
        pub static FIELDS: &[FieldDef] = &[
            $(FieldDef { name: $name, id: FieldId::$id, ftype: FieldType::$ty, arg: ArgSpec::$arg, desc: $desc },)*
        ];
    };
}

fields! {
    "evt.num" => EvtNum, U64, None, "Sequence number of the event in the stream.";
    "evt.time" => EvtTime, Str, None, "Local time of day of the event with nanoseconds.";
    "evt.time.s" => EvtTimeS, Str, None, "Local time of day of the event, whole seconds.";
    "evt.time.iso8601" => EvtTimeIso8601, Str, None, "Event time as ISO 8601 with nanoseconds and UTC offset.";
    "evt.datetime" => EvtDatetime, Str, None, "Local date and time of the event with nanoseconds.";
    "evt.datetime.s" => EvtDatetimeS, Str, None, "Local date and time of the event, whole seconds.";
    "evt.rawtime" => EvtRawtime, AbsTime, None, "Event time in nanoseconds since the epoch.";
    "evt.rawtime.s" => EvtRawtimeS, AbsTime, None, "Whole seconds part of evt.rawtime.";
    "evt.rawtime.ns" => EvtRawtimeNs, AbsTime, None, "Nanoseconds part of evt.rawtime.";
    "evt.reltime" => EvtReltime, RelTime, None, "Nanoseconds since the first event of the stream.";
    "evt.reltime.s" => EvtReltimeS, RelTime, None, "Whole seconds part of evt.reltime.";
    "evt.reltime.ns" => EvtReltimeNs, RelTime, None, "Nanoseconds part of evt.reltime.";
    "evt.latency" => EvtLatency, RelTime, None, "For an exit event, nanoseconds since its enter event.";
    "evt.deltatime" => EvtDeltatime, RelTime, None, "Nanoseconds since the previous event.";
    "evt.outputtime" => EvtOutputtime, Str, None, "Event time in the format chosen for output lines.";
    "evt.type" => EvtType, Str, None, "Name of the event, such as open or execve.";
    "evt.type.is" => EvtTypeIs, U64, NameOrIndex, "1 when the event is of the type given as argument.";
    "evt.dir" => EvtDir, Str, None, "Direction: > for enter events, < for exit events.";
    "evt.cpu" => EvtCpu, U64, None, "CPU that produced the event.";
    "evt.category" => EvtCategory, Str, None, "Category of the event, such as file or net.";
    "evt.args" => EvtArgs, Str, None, "All parameters of the event, as name=value pairs.";
    "evt.info" => EvtInfo, Str, None, "The event's description: its parameters for syscalls.";
    "evt.arg" => EvtArg, Str, NameOrIndex, "One parameter, by name (evt.arg.fd) or index (evt.arg[0]), rendered.";
    "evt.rawarg" => EvtRawarg, Str, NameOrIndex, "One parameter, by name, as its raw value.";
    "evt.res" => EvtRes, Str, None, "SUCCESS, or the error code name when the call failed.";
    "evt.rawres" => EvtRawres, I64, None, "The call's return value as a number.";
    "evt.failed" => EvtFailed, Bool, None, "True for calls that returned an error.";
    "evt.is_io" => EvtIsIo, Bool, None, "True for events that read or write data.";
    "evt.is_io_read" => EvtIsIoRead, Bool, None, "True for events that read data.";
    "evt.is_io_write" => EvtIsIoWrite, Bool, None, "True for events that write data.";
    "evt.is_wait" => EvtIsWait, Bool, None, "True for events that make the thread wait.";
    "evt.is_open_read" => EvtIsOpenRead, Bool, None, "True for open calls that open for reading.";
    "evt.is_open_write" => EvtIsOpenWrite, Bool, None, "True for open calls that open for writing.";
    "evt.is_open_exec" => EvtIsOpenExec, Bool, None, "True for open calls that create an executable file.";
    "evt.is_open_create" => EvtIsOpenCreate, Bool, None, "True for open calls that create the file.";
    "evt.buffer" => EvtBuffer, Bytes, None, "Data buffer of a read or write.";
    "evt.buflen" => EvtBuflen, U64, None, "Length of the data buffer of a read or write.";
    "evt.count" => EvtCount, U64, None, "Always 1, for counting.";
    "evt.hostname" => EvtHostname, Str, None, "Host name of the machine that produced the event.";
    "evt.source" => EvtSource, Str, None, "Event source: syscall.";
    "evt.pluginname" => EvtPluginname, Str, None, "Plugin that produced the event, when any.";
    "proc.name" => ProcName, Str, None, "Process name (comm).";
    "proc.exe" => ProcExe, Str, None, "First command-line argument (argv[0]).";
    "proc.exepath" => ProcExepath, Str, None, "Full path of the executable.";
    "proc.args" => ProcArgs, Str, None, "Command-line arguments after argv[0], space separated.";
    "proc.cmdline" => ProcCmdline, Str, None, "Process name followed by its arguments.";
    "proc.cmdnargs" => ProcCmdnargs, U64, None, "Number of command-line arguments.";
    "proc.exeline" => ProcExeline, Str, None, "argv[0] followed by the arguments.";
    "proc.env" => ProcEnv, Str, OptionalKey, "Environment, or one variable with proc.env[NAME].";
    "proc.cwd" => ProcCwd, Str, None, "Current working directory.";
    "proc.tty" => ProcTty, U64, None, "Controlling terminal number, 0 when none.";
    "proc.pid" => ProcPid, I64, None, "Process id.";
    "proc.ppid" => ProcPpid, I64, None, "Parent process id.";
    "proc.vpid" => ProcVpid, I64, None, "Process id inside its pid namespace.";
    "proc.pvpid" => ProcPvpid, I64, None, "Parent process id inside its pid namespace.";
    "proc.sid" => ProcSid, I64, None, "Session id.";
    "proc.sname" => ProcSname, Str, None, "Name of the session leader.";
    "proc.vpgid" => ProcVpgid, I64, None, "Process group id inside the pid namespace.";
    "proc.vpgid.name" => ProcVpgidName, Str, None, "Name of the process group leader.";
    "proc.vpgid.exe" => ProcVpgidExe, Str, None, "argv[0] of the process group leader.";
    "proc.is_vpgid_leader" => ProcIsVpgidLeader, Bool, None, "True for the process group leader.";
    "proc.is_sid_leader" => ProcIsSidLeader, Bool, None, "True for the session leader.";
    "proc.loginshellid" => ProcLoginshellid, I64, None, "Pid of the oldest shell among the ancestors.";
    "proc.pname" => ProcPname, Str, None, "Name of the parent process.";
    "proc.pexe" => ProcPexe, Str, None, "argv[0] of the parent process.";
    "proc.pexepath" => ProcPexepath, Str, None, "Executable path of the parent process.";
    "proc.pcmdline" => ProcPcmdline, Str, None, "Command line of the parent process.";
    "proc.aname" => ProcAname, Str, OptionalIndex, "Name of the Nth ancestor (1 is the parent); without index, any ancestor.";
    "proc.aexe" => ProcAexe, Str, OptionalIndex, "argv[0] of the Nth ancestor.";
    "proc.aexepath" => ProcAexepath, Str, OptionalIndex, "Executable path of the Nth ancestor.";
    "proc.apid" => ProcApid, I64, OptionalIndex, "Pid of the Nth ancestor.";
    "proc.duration" => ProcDuration, RelTime, None, "Nanoseconds since the process started.";
    "proc.ppid.duration" => ProcPpidDuration, RelTime, None, "Nanoseconds since the parent started.";
    "proc.is_exe_writable" => ProcIsExeWritable, Bool, None, "True when the executable is writable by its user.";
    "proc.is_exe_upper_layer" => ProcIsExeUpperLayer, Bool, None, "True when the executable is in an overlayfs upper layer.";
    "proc.is_exe_lower_layer" => ProcIsExeLowerLayer, Bool, None, "True when the executable is in an overlayfs lower layer.";
    "proc.is_exe_from_memfd" => ProcIsExeFromMemfd, Bool, None, "True when the executable lives in a memfd.";
    "proc.exe_ino" => ProcExeIno, I64, None, "Inode number of the executable.";
    "proc.exe_ino.ctime" => ProcExeInoCtime, AbsTime, None, "Status change time of the executable's inode.";
    "proc.exe_ino.mtime" => ProcExeInoMtime, AbsTime, None, "Modification time of the executable's inode.";
    "proc.exe_ino.ctime_duration_proc_start" => ProcExeInoCtimeDurationProcStart, AbsTime, None, "Nanoseconds between the executable's ctime and the process start.";
    "proc.fdlimit" => ProcFdlimit, I64, None, "Maximum number of open files.";
    "proc.vmsize" => ProcVmsize, U64, None, "Virtual memory size in KiB.";
    "proc.vmrss" => ProcVmrss, U64, None, "Resident memory in KiB.";
    "proc.vmswap" => ProcVmswap, U64, None, "Swapped memory in KiB.";
    "thread.tid" => ThreadTid, I64, None, "Thread id.";
    "thread.vtid" => ThreadVtid, I64, None, "Thread id inside its pid namespace.";
    "thread.ismain" => ThreadIsmain, Bool, None, "True for the main thread of its process.";
    "thread.cap_permitted" => ThreadCapPermitted, Str, None, "Permitted capabilities.";
    "thread.cap_effective" => ThreadCapEffective, Str, None, "Effective capabilities.";
    "thread.cap_inheritable" => ThreadCapInheritable, Str, None, "Inheritable capabilities.";
    "fd.num" => FdNum, I64, None, "File descriptor number.";
    "fd.type" => FdType, Str, None, "Kind of fd: file, directory, ipv4, ipv6, unix, pipe, event, ...";
    "fd.typechar" => FdTypechar, Str, None, "One-letter kind of fd.";
    "fd.name" => FdName, Str, None, "Full name: path for files, connection tuple for sockets.";
    "fd.nameraw" => FdNameraw, Str, None, "Name as given by the call, before path normalisation.";
    "fd.directory" => FdDirectory, Str, None, "Directory part of a file fd's name.";
    "fd.filename" => FdFilename, Str, None, "File name part of a file fd's name.";
    "fd.ip" => FdIp, Ip, None, "Client or server address (matches either).";
    "fd.cip" => FdCip, Ip, None, "Client address.";
    "fd.sip" => FdSip, Ip, None, "Server address.";
    "fd.lip" => FdLip, Ip, None, "Local address.";
    "fd.rip" => FdRip, Ip, None, "Remote address.";
    "fd.port" => FdPort, Port, None, "Client or server port (matches either).";
    "fd.cport" => FdCport, Port, None, "Client port.";
    "fd.sport" => FdSport, Port, None, "Server port.";
    "fd.lport" => FdLport, Port, None, "Local port.";
    "fd.rport" => FdRport, Port, None, "Remote port.";
    "fd.l4proto" => FdL4proto, Str, None, "Transport protocol: tcp, udp, icmp or raw.";
    "fd.sockfamily" => FdSockfamily, Str, None, "Socket family: ip or unix.";
    "fd.is_server" => FdIsServer, Bool, None, "True when the process is the server end.";
    "fd.net" => FdNet, IpNet, None, "Client or server address, for network comparisons.";
    "fd.cnet" => FdCnet, IpNet, None, "Client address, for network comparisons.";
    "fd.snet" => FdSnet, IpNet, None, "Server address, for network comparisons.";
    "fd.lnet" => FdLnet, IpNet, None, "Local address, for network comparisons.";
    "fd.rnet" => FdRnet, IpNet, None, "Remote address, for network comparisons.";
    "fd.connected" => FdConnected, Bool, None, "True when the socket is connected.";
    "fd.name_changed" => FdNameChanged, Bool, None, "True when the event changed the fd's name.";
    "fd.ino" => FdIno, I64, None, "Inode number of the file.";
    "fd.dev" => FdDev, U64, None, "Device number of the file.";
    "fd.types" => FdTypes, Str, OptionalIndex, "Kinds of all fds the event involves.";
    "fd.cip.name" => FdCipName, Str, None, "DNS name of the client address, when it was resolved.";
    "fd.sip.name" => FdSipName, Str, None, "DNS name of the server address, when it was resolved.";
    "fd.lip.name" => FdLipName, Str, None, "DNS name of the local address, when it was resolved.";
    "fd.rip.name" => FdRipName, Str, None, "DNS name of the remote address, when it was resolved.";
    "user.uid" => UserUid, U64, None, "User id.";
    "user.name" => UserName, Str, None, "User name.";
    "user.homedir" => UserHomedir, Str, None, "Home directory.";
    "user.shell" => UserShell, Str, None, "Login shell.";
    "user.loginuid" => UserLoginuid, I64, None, "Audit login user id; -1 when unset.";
    "user.loginname" => UserLoginname, Str, None, "Name of the audit login user.";
    "group.gid" => GroupGid, U64, None, "Group id.";
    "group.name" => GroupName, Str, None, "Group name.";
    "container.id" => ContainerId, Str, None, "Container id, or host.";
    "container.name" => ContainerName, Str, None, "Container name, or host.";
    "container.image" => ContainerImage, Str, None, "Container image.";
    "container.image.repository" => ContainerImageRepository, Str, None, "Repository of the container image.";
    "container.image.tag" => ContainerImageTag, Str, None, "Tag of the container image.";
    "container.type" => ContainerType, Str, None, "Container runtime: docker, cri-o, containerd, podman, host.";
    "container.privileged" => ContainerPrivileged, Bool, None, "True for a privileged container.";
    "container.info" => ContainerInfo, Str, None, "Container description used in rule outputs.";
    "container.mount.dest" => ContainerMountDest, Str, OptionalKey, "Destination in the container of a mount, by index or by source path glob: container.mount.dest[/var/run/docker.sock].";
    "container.mounts" => ContainerMounts, Str, None, "The container's mounts, space-separated, each as source:dest:mode:rdrw:propagation.";
    "container.start_ts" => ContainerStartTs, AbsTime, None, "Start time of the container, nanoseconds since the epoch.";
    "k8s.ns.name" => K8sNsName, Str, None, "Kubernetes namespace of the pod running the container.";
    "k8s.pod.name" => K8sPodName, Str, None, "Kubernetes pod running the container.";
}

/// Looks up a field by exact name.
pub fn lookup(name: &str) -> Option<&'static FieldDef> {
    FIELDS.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_classed() {
        let mut names: Vec<_> = FIELDS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate field names");
        for f in FIELDS {
            let class = f.name.split('.').next().unwrap();
            assert!(
                [
                    "evt",
                    "proc",
                    "thread",
                    "fd",
                    "user",
                    "group",
                    "container",
                    "k8s"
                ]
                .contains(&class),
                "{}",
                f.name
            );
        }
    }

    #[test]
    fn fields_of_the_shipped_rules_parse() {
        for f in [
            "fd.cip.name",
            "fd.sip.name",
            "fd.lip.name",
            "fd.rip.name",
            "container.mount.dest[/var/run/docker.sock]",
            "container.mount.dest[/proc*]",
            "container.mounts",
            "container.start_ts",
            "k8s.ns.name",
            "k8s.pod.name",
        ] {
            assert!(crate::Field::parse(f).is_ok(), "{f}");
        }
    }

    #[test]
    fn lookup_finds_exact_names_only() {
        assert_eq!(lookup("proc.name").unwrap().id, FieldId::ProcName);
        assert!(lookup("proc.nam").is_none());
    }
}
